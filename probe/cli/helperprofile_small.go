//go:build pantau_small

package cli

// startCPUProfile: the small build (routers) leaves the profiler out.
func startCPUProfile(path string) (stop func(), err error) {
	if path == "" {
		return func() {}, nil
	}
	return nil, usageError("--cpuprofile: this build (pantau_small, for routers) has no profiler")
}
