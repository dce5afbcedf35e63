"""Agent loops (ReAct, plan-and-execute) with budgets. Arrives with the agent-host issue."""
