"""Shared plumbing every capability stands on; imports no capability. I/O lives in adapters/."""
