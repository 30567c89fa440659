"""Tasks: one occurrence of a duty for one unit in one year, and its history."""
