"""The year-end assessment (年终考核): scoring each unit on the rubric from its evidence."""
