"""Backends: embedded (llama.cpp), llama_server, openai_compat, sglang, scripted."""
