import Crypto
import Foundation

/// Writing and reading plan files: pretty, key-sorted JSON with a content hash.
public enum PlanFile {
    static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    /// The plan's id: SHA-256 of its encoding with an empty `planId`.
    public static func id(of plan: Plan) throws -> String {
        var unsigned = plan
        unsigned.planId = ""
        let digest = SHA256.hash(data: try encoder().encode(unsigned))
        return "sha256:" + digest.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }

    /// The plan with its id set, as bytes (with a trailing newline).
    public static func encode(_ plan: Plan) throws -> Data {
        var sealed = plan
        sealed.planId = try id(of: plan)
        return try encoder().encode(sealed) + Data("\n".utf8)
    }

    /// Reads a plan and checks that its content matches its id.
    public static func decode(_ data: Data, path: String) throws -> Plan {
        let plan: Plan
        do { plan = try JSONDecoder().decode(Plan.self, from: data) } catch {
            throw PlanError.unreadablePlan(path: path, reason: "\(error)")
        }
        guard plan.ferryPlan == 1 else {
            throw PlanError.unreadablePlan(
                path: path,
                reason: "plan format \(plan.ferryPlan) is newer than this ferry understands"
            )
        }
        let expected = try id(of: plan)
        guard plan.planId == expected else {
            throw PlanError.tamperedPlan(path: path, recorded: plan.planId, actual: expected)
        }
        return plan
    }

    public static func read(_ path: String) throws -> Plan {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw PlanError.unreadablePlan(path: path, reason: "no such file")
        }
        return try decode(data, path: path)
    }
}
