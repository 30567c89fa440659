"""Units: the party branches, offices and enterprises that carry out the plan."""
