package check

// Test helpers shared with the external tests of package check_test.
var SilentListener = silentListener
