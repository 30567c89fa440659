"""Views over many tasks: the calendar, task lists, progress and the town overview."""
