"""Adapters over Ansible: plain data from hostvars, host lists, inventories as Ansible reads them, the playbook runner.

The only part of voipctl that imports Ansible; core, model and derive stay pure.
"""
