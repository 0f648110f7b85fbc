// `import Fovea` brings the whole public surface: tensors, the Device protocol and the
// checked operations (FoveaCore), and the three backends.
@_exported import FoveaCore
@_exported import FoveaDispatch
@_exported import FoveaNaive
@_exported import FoveaOpenBLAS
