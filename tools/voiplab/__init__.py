"""The lab: a small, complete estate in podman containers on this machine (images, network, drills).

Test infrastructure beside the product: it imports voipctl, never the other way round.
"""
