"""LTR feature sets as JSON files in the plugin's exact request format, shipped as package data."""
