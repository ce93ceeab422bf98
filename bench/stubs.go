package main

import "context"

func benchFanout(ctx context.Context, e *env, flags bool) error { return nil }
func benchDashboard(ctx context.Context, e *env) error          { return nil }
func benchOutage(ctx context.Context, e *env) error             { return nil }
