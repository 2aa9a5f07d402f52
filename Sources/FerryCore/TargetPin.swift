import AWSClient
import DynamoModel

/// The target a plan is applied to is the one it was made for: `plan` records the target table's ARN (and account)
/// when it can describe it, and `apply` and `diff` describe the table and refuse before any write or read when it is
/// another table — whatever the environment or the command line points at — or when it is the export's own source
/// table (a FULL export written back over the live source would roll back every change since the export).
public enum TargetPin {
    /// The account of an ARN (`arn:partition:service:region:account:resource`), when it has one.
    public static func account(ofArn arn: String) -> String? {
        let parts = arn.split(separator: ":", maxSplits: 5, omittingEmptySubsequences: false)
        return parts.count == 6 && !parts[4].isEmpty ? String(parts[4]) : nil
    }

    /// Checks a described target against the plan (and, on a resume, the checkpoint's recorded target).
    public static func check(
        _ table: TableDescription,
        plan: Plan,
        checkpointArn: String? = nil,
        checkpointPath: String? = nil
    ) throws {
        guard let arn = table.TableArn else { return }
        // ARNs compared by bytes, as DynamoDB compares names (not by Swift's canonical equivalence).
        if arn.bytewiseEquals(plan.sourceTable.tableArn) {
            throw TargetPinError.targetIsSource(arn: arn)
        }
        if let pinned = plan.target.tableArn, !pinned.bytewiseEquals(arn) {
            throw TargetPinError.notThePlansTarget(planned: pinned, actual: arn, region: plan.target.region)
        }
        if let checkpointArn, !checkpointArn.bytewiseEquals(arn) {
            throw TargetPinError.notTheCheckpointsTarget(
                recorded: checkpointArn,
                actual: arn,
                checkpoint: checkpointPath ?? "the checkpoint"
            )
        }
    }
}

public enum TargetPinError: Error, Sendable, Hashable, CustomStringConvertible {
    case targetIsSource(arn: String)
    case notThePlansTarget(planned: String, actual: String, region: String?)
    case notTheCheckpointsTarget(recorded: String, actual: String, checkpoint: String)

    public var description: String {
        switch self {
        case .targetIsSource(let arn):
            "the target table \(arn) is the exports' own source table: writing them to it would roll the live table back to the export's point in time; refusing. Point --target-region/--target-profile/--target-table at the copy"
        case let .notThePlansTarget(planned, actual, region):
            "the target the environment and options point at is \(actual), but the plan was made for \(planned)"
                + (region.map { " (region \($0))" } ?? "")
                + "; refusing before any write. Run with the plan's target settings, or make a new plan (`ferry plan`) for \(actual)"
        case let .notTheCheckpointsTarget(recorded, actual, checkpoint):
            "\(checkpoint) records writes to \(recorded), but this run's target is \(actual); refusing to resume against another table. Point the run at \(recorded), or start over with another --checkpoint"
        }
    }
}
