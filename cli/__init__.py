"""The agenthost command line."""
