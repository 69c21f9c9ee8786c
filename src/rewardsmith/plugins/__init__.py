"""Built-in plugins, registered through rewardsmith's own entry points."""
