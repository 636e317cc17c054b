//go:build race

package httpapi_test

// raceDetector is true under -race, which makes each request several
// times slower: TestLoad then makes fewer of them.
const raceDetector = true
