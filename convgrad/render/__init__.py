"""Presentation: every way a result is shown or written. Nothing here computes gradients."""
