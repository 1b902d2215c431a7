"""The task catalog: one module per task (``anli`` holds the three ANLI rounds and ANLI+).

A module declares ``TASK`` (a ``TaskSpec``) or ``TASKS`` (several); the registry finds every
module of this package by itself, so adding a task is adding its file. Modules whose name
starts with "_" are not tasks. A task's file holds all the package knows about it: file layouts
and readers, languages, metric, training defaults, what it trains as, display name, how its rows
relate to other sets (contamination), its hub source, and its suite membership.
"""
