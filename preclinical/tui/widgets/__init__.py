"""Widgets shared by the screens: the run progress bar, the conversation view."""
