// What a job is launched with (SPEC §3): its program, its environment and the secrets it gets,
// as a pure function of the manager's configuration, the queue and the job's plan.
#pragma once

#include "sf/manager/launcher.h"
#include "sf/manager/service.h"
#include "sf/manager/state.h"

namespace sf::manager {

// Loaders get the producer's Kafka user, everything else the consumer's and the store; secrets
// (Kafka and ArangoDB passwords, WORKER_SECRETS) only in `secrets`, never in `env`.
LaunchSpec launch_spec(const ManagerConfig& cfg, const QueueState& q, const JobState& j);

}  // namespace sf::manager
