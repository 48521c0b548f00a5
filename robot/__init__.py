"""The robot: behaviour, navigation (maps, planner, controller, simulator), telemetry, ROS nodes."""
