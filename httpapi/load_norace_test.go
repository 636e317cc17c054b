//go:build !race

package httpapi_test

// raceDetector is false without -race: TestLoad makes all its requests.
const raceDetector = false
