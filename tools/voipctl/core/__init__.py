"""Small rules every layer shares: number ranges, dates and stamps, a user's activity, the password recipe.

ranges (number ranges), dates (a day), stamps (run and backup stamps),
text (a value shown in a message), activity (a user's activity on a date),
passwords (the SIP password and purpose-key recipe). Imports nothing from
voipctl outside core (tests/unit/test_layers.py).
"""
