"""Floor maps, cost maps, the planner, the path-following controller and the 2-D simulator (issue 6)."""
