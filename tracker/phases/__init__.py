"""The plan as data: plans, their phases, rubric and duties, and loading them."""
