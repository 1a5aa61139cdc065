// One collection, one test at a time: the machine has two cores and the tests start real processes.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
// unshare, /proc, POSIX file modes: these tests run on Linux only.
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
