"""Periodic commerce work run by the worker (``core.periodic``)."""
