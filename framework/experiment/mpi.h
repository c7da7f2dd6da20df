// MPI for sweeps across machines (Open MPI; optional: built when CMake finds MPI, see README).
//
// Under `mpirun -np N attnlab sweep ...` every rank expands the same sweep. Rank 0 coordinates:
// a service thread answers trial requests from the other ranks (dynamic hand-out: a rank asks for
// its next trial whenever one of its jobs is free) and writes their state changes to the ledger;
// rank 0's own jobs take trials from the same queue. Every rank writes its own trial files into
// the shared sweep directory; rank 0 writes the index when all ranks are done.
// Needs MPI_THREAD_MULTIPLE (Debian's Open MPI provides it).
//
// A rank that dies. Every rank > 0 sends rank 0 a heartbeat each second; rank 0 counts a rank that
// has been silent for 15 s as lost: it prints the rank and its trial, marks that trial interrupted
// in the ledger (state running, message "interrupted: ..."; not run again here, as a slow rank
// would then write the same files), finishes the sweep with the other ranks, and ends the job with
// MPI_Abort and a non-zero status; a re-run of the same command resumes the trial. Whether the
// other ranks live on is Open MPI's choice: by default mpirun kills every rank as soon as one dies
// (then rank 0, on the SIGTERM that precedes the kill, marks the trials still running interrupted,
// and the re-run marks any it could not); `mpirun --mca orte_abort_on_non_zero_status 0` (or
// OMPI_MCA_orte_abort_on_non_zero_status=0 in the environment) lets them finish. Open MPI 4.1
// has no ULFM: a dead rank is noticed by its silence only.
#pragma once

#include "framework/experiment/trial_source.h"

#include <functional>
#include <memory>
#include <vector>

namespace attnlab::store {
class Ledger;
}

namespace attnlab::experiment::mpi {

/// True when this binary was built with MPI.
bool built();
/// Initialises MPI when the process was started by mpirun (Open MPI's environment); otherwise does
/// nothing. Throws attnlab::Error when MPI_THREAD_MULTIPLE is not available.
void init(int* argc, char*** argv);
/// MPI_Finalize; on rank 0 after a rank was lost, MPI_Abort with `exit_code` instead (finalizing
/// would wait for the lost rank).
void finalize(int exit_code = 0);
bool active();
int rank();
int size();

/// Rank 0: serves the todo list (trial indices) to every rank and its own workers; `on_state` is
/// called (serialised) for every state change, its own and the other ranks'. finish() returns when
/// every rank has said it is done.
std::unique_ptr<TrialSource> coordinator(
    std::vector<std::size_t> todo,
    std::function<void(const std::string&, store::TrialState, const std::string&)> on_state);
/// Ranks > 0: asks rank 0 for trials and reports to it.
std::unique_ptr<TrialSource> client();

}  // namespace attnlab::experiment::mpi
