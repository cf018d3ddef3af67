"""Shared by every test directory: the collection voip.estate imports as Ansible loads it.

``ansible_collections.voip.estate...`` resolves through Ansible's own collection
finder, installed here before any test module is imported (as ``ansible-test
units`` does), so a test's imports and an Ansible run in the same process find
the same modules, with the collection's metadata.
"""

from __future__ import annotations

from pathlib import Path

from ansible.utils.collection_loader._collection_finder import _AnsibleCollectionFinder

_AnsibleCollectionFinder(paths=[str(Path(__file__).resolve().parents[1] / "collections")])._install()
