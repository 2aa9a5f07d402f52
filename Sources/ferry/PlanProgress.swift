import FerryCore

/// A plan file read with its checkpoint: where the checkpoint is (`--checkpoint`, or the documented default next to
/// the plan) and what it holds (nil before any apply).
struct PlanProgress {
    let plan: Plan
    let checkpointPath: String
    let checkpoint: Checkpoint?

    init(planPath: String, checkpoint: String?) throws {
        plan = try PlanFile.read(planPath)
        checkpointPath = checkpoint ?? CheckpointFile.defaultPath(forPlan: planPath)
        self.checkpoint = try CheckpointFile(path: checkpointPath).load(for: plan.planId)
    }
}
