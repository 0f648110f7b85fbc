// Open MPI for Swift: <mpi.h> plus functions for what Swift cannot import from it. The handles
// MPI_COMM_WORLD, MPI_FLOAT, MPI_SUM, MPI_IN_PLACE … are macros over addresses of library
// globals, so each is returned by a small inline function here.
#ifndef FOVEA_CMPI_SHIM_H
#define FOVEA_CMPI_SHIM_H

#include <mpi.h>

static inline MPI_Comm fovea_mpi_comm_world(void) { return MPI_COMM_WORLD; }
static inline MPI_Comm fovea_mpi_comm_null(void) { return MPI_COMM_NULL; }
static inline MPI_Datatype fovea_mpi_float(void) { return MPI_FLOAT; }
static inline MPI_Datatype fovea_mpi_double(void) { return MPI_DOUBLE; }
static inline MPI_Datatype fovea_mpi_byte(void) { return MPI_BYTE; }
static inline MPI_Datatype fovea_mpi_int64(void) { return MPI_INT64_T; }
static inline MPI_Op fovea_mpi_sum(void) { return MPI_SUM; }
static inline MPI_Op fovea_mpi_max(void) { return MPI_MAX; }
static inline MPI_Op fovea_mpi_min(void) { return MPI_MIN; }
static inline void *fovea_mpi_in_place(void) { return MPI_IN_PLACE; }
static inline MPI_Request fovea_mpi_request_null(void) { return MPI_REQUEST_NULL; }
static inline MPI_Status *fovea_mpi_status_ignore(void) { return MPI_STATUS_IGNORE; }
static inline MPI_Errhandler fovea_mpi_errors_return(void) { return MPI_ERRORS_RETURN; }
static inline int fovea_mpi_success(void) { return MPI_SUCCESS; }
static inline int fovea_mpi_thread_serialized(void) { return MPI_THREAD_SERIALIZED; }
static inline int fovea_mpi_comm_type_shared(void) { return MPI_COMM_TYPE_SHARED; }
static inline MPI_Info fovea_mpi_info_null(void) { return MPI_INFO_NULL; }
static inline int fovea_mpi_max_error_string(void) { return MPI_MAX_ERROR_STRING; }

#endif
