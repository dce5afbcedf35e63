"""What agenthost keeps: the session store (runs, messages, steps, spans), notes with keyword
and semantic recall per tenant and user, and session summaries (compaction)."""
