"""Floor maps, cost maps, the planner, the path-following controller and the 2-D simulator (issue 6).

The API the behaviour layer drives (in the spirit of Nav2's simple commander), all plain Python:

    building = maps.load_building()                          # floors + POIs, validated
    routes = route.RoutePlanner(building)                    # one cached Planner per floor
    r = routes.plan_to_poi(floor, (x, y), building.poi("counter_mynumber"))
    for leg in r.legs:                                       # one leg per floor
        escort = escort.Escort(controller.Controller(list(leg.path.points)), destination)
        update = escort.step(t, pose, scan, visitor_xy)      # -> command, state, what to say
        ...                                                  # ARRIVED / WAITING / STUCK / VISITOR_LOST
        leg.then                                             # what to say at the elevator
    sim = simulator.Simulator(fmap, pose); sim.step(command, dt); sim.scan()

Modules: maps (loader/validation), mapgen (the demo city hall), costmap (inflation), planner
(lattice Dijkstra + any-angle), route (floors and elevators), controller (local control),
escort (visitor pacing), simulator, scenario (one simulated escort), render (PNG), nodes (ROS 2),
cli (`lobby plan`). Nothing is imported here, so `lobby --help` stays fast.
"""
