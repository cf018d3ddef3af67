"""Derived values: pure functions from estate data to what hosts need.

Used by voipctl, by the filter plugins on the controller and by tests; never
by code running on managed hosts (modules receive already-derived data).
"""
