// `import Fovea` brings the whole public surface: tensors, the Device protocol and the
// checked operations (FoveaCore), the three backends, the checking device and the profiling
// device. The convolution machinery the backends share (FoveaKernels) is deliberately not re-exported: its declarations
// are `package`, for this package's targets and tests only.
@_exported import FoveaChecking
@_exported import FoveaCore
@_exported import FoveaDispatch
@_exported import FoveaNaive
@_exported import FoveaOpenBLAS
@_exported import FoveaProfiling
