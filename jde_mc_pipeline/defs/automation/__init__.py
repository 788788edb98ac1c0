"""What runs the pipeline: its jobs, the change sensor on JDE and the schedules."""
