"""Small rules every layer shares: number ranges, dates and stamps, a user's activity, the password recipe.

Imports nothing from voipctl.
"""
