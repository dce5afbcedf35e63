"""Tool-call accuracy: agenthost's constrained path beside raw llama-cpp-python
(``python -m evals.toolcalls.run``)."""
