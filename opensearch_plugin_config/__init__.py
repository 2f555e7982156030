"""LTR feature sets (and other plugin configuration) as JSON files in the plugin's exact format."""
