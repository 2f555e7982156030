"""Mappings: field mappers, the properties tree and its dynamic policy, document parsing, date formats."""
