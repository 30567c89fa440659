"""The 工作台账: a unit's year of evidence filed by rubric row (PDF, ZIP), and the year in
figures."""
