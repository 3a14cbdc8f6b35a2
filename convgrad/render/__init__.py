"""Presentation: every way a result is shown or written. Nothing here computes gradients.

Imports go one way (tests/test_imports.py checks it):

- leaves, used by every view and importing none: ``text`` (words and numbers as plain text:
  shapes, configuration, index labels, windows, inline arrays, the formatter) and ``grids``
  (arrays as aligned grids of rich Text, and the pictures of a problem drawn with them);
- views, each on the leaves only: ``table`` (overlay tables or blocks, totals), ``explain``
  (the --explain narrative), ``auditview`` (stride leftovers, padding crop, --cell),
  ``checkview`` (check verdicts, grading, gradcheck), ``markdown`` and ``jsonout``;
- on the views: ``human`` (the human view in print order) and ``exports`` (Markdown, LaTeX, CSV).
- the Python API's face: ``notebook`` (``forward``, ``backward`` and the ``Result`` that shows
  itself with the views) and ``scripts`` (--format torch and numpy).
"""
