"""The HTTP front door (``agenthost gateway``): OpenAI-compatible chat completions and a runs
API behind bearer keys, rate limits and a priority queue in front of inference."""
