/// Everything that can be wrong with AWS credential configuration.
///
/// Each case names what to fix: the profile, the file (and line when known) and the key or
/// environment variable. Messages are built only from names, paths, line numbers and
/// non-secret values such as `credential_source`; they never contain key material.
public enum AWSConfigError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A file could not be parsed.
    case parse(file: String, line: Int, reason: String)
    /// A file exists but could not be read or is not UTF-8.
    case unreadableFile(file: String, reason: String)
    /// A profile chosen by `--profile` or `AWS_PROFILE` exists in neither file.
    case profileNotFound(profile: String, selectedBy: String, configFile: String, credentialsFile: String)
    /// Only one half of an access key pair is set in a profile.
    case partialStaticCredentials(profile: String, file: String, missingKey: String)
    /// `AWS_ACCESS_KEY_ID` is set but `AWS_SECRET_ACCESS_KEY` is not (or vice versa).
    case partialEnvironmentCredentials(missingVariable: String)
    /// `source_profile` names a profile that does not exist.
    case sourceProfileNotFound(profile: String, sourceProfile: String, file: String, line: Int)
    /// Following `source_profile` leads back to a profile already on the path.
    case sourceProfileCycle(path: [String], file: String)
    /// A role profile sets both `source_profile` and `credential_source`.
    case conflictingRoleSource(profile: String, file: String)
    /// A profile has `role_arn` but neither `source_profile` nor `credential_source`.
    case missingRoleSource(profile: String, file: String)
    /// `credential_source` is not one of `Environment`, `Ec2InstanceMetadata`, `EcsContainer`.
    case unknownCredentialSource(profile: String, value: String, file: String, line: Int)
    /// `credential_source` points at a source that has nothing configured.
    case credentialSourceUnavailable(profile: String, source: String, file: String, hint: String)
    /// A `source_profile` target has no way to produce credentials.
    case sourceProfileHasNoCredentials(profile: String, sourceProfile: String, file: String)
    /// A web identity token file is configured but no role ARN is.
    case webIdentityMissingRoleArn(profile: String)
    /// A numeric setting such as `duration_seconds` is not an integer.
    case invalidInteger(profile: String, key: String, file: String, line: Int)
    /// An SSO profile lacks a required key or names a missing `[sso-session]`.
    case incompleteSSOConfiguration(profile: String, file: String, missing: String)

    public var description: String {
        switch self {
        case let .parse(file, line, reason):
            return "\(file) line \(line): \(reason)"
        case let .unreadableFile(file, reason):
            return "cannot read \(file): \(reason)"
        case let .profileNotFound(profile, selectedBy, configFile, credentialsFile):
            return
                "profile \"\(profile)\" (selected by \(selectedBy)) was not found: add [profile \(profile)] to \(configFile) or [\(profile)] to \(credentialsFile)"
        case let .partialStaticCredentials(profile, file, missingKey):
            return "profile \"\(profile)\" in \(file) has only half of an access key pair: set \(missingKey)"
        case let .partialEnvironmentCredentials(missingVariable):
            return "partial credentials in the environment: \(missingVariable) is not set"
        case let .sourceProfileNotFound(profile, sourceProfile, file, line):
            return
                "profile \"\(profile)\" in \(file) line \(line): source_profile \"\(sourceProfile)\" does not exist; fix source_profile or add that profile"
        case let .sourceProfileCycle(path, file):
            return
                "source_profile cycle in \(file): \(path.joined(separator: " -> ")); change source_profile in one of these profiles"
        case let .conflictingRoleSource(profile, file):
            return
                "profile \"\(profile)\" in \(file) sets both source_profile and credential_source; remove one of them"
        case let .missingRoleSource(profile, file):
            return
                "profile \"\(profile)\" in \(file) sets role_arn but neither source_profile nor credential_source; add one of them"
        case let .unknownCredentialSource(profile, value, file, line):
            return
                "profile \"\(profile)\" in \(file) line \(line): credential_source \"\(value)\" is not valid; use Environment, Ec2InstanceMetadata or EcsContainer"
        case let .credentialSourceUnavailable(profile, source, file, hint):
            return "profile \"\(profile)\" in \(file): credential_source \(source) has no credentials: \(hint)"
        case let .sourceProfileHasNoCredentials(profile, sourceProfile, file):
            return
                "profile \"\(profile)\" in \(file): source_profile \"\(sourceProfile)\" has no credentials; give it aws_access_key_id/aws_secret_access_key, role_arn, credential_process, SSO or web identity settings"
        case let .webIdentityMissingRoleArn(profile):
            return
                "a web identity token file is configured (AWS_WEB_IDENTITY_TOKEN_FILE or web_identity_token_file in profile \"\(profile)\") but no role: set AWS_ROLE_ARN or role_arn"
        case let .invalidInteger(profile, key, file, line):
            return "profile \"\(profile)\" in \(file) line \(line): \(key) must be a whole number"
        case let .incompleteSSOConfiguration(profile, file, missing):
            return "profile \"\(profile)\" in \(file) is configured for SSO but is missing \(missing)"
        }
    }
}
