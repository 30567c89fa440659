"""Working days: weekends, China's public holidays and adjusted working days (调休), and
the coordinator's own days off and on."""
