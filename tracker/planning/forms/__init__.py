"""The plan editor's forms, a module per tab of the editor (``plan``, ``phases``,
``duties``, ``rubric``) and what they share (``fields``): what each page shows of a
draft's data (``values_of``), and how what is submitted goes back into it (``apply``).
Keys a form has no field for are kept; an empty optional field drops its key (the
loader's default).
"""
