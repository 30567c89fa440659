"""Operations over every area: the demo town, backup and restore, serving, health, the
top-level commands. Nothing below imports this."""
