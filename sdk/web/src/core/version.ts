/** Version of the SDK, sent as `player.sdk_version` and `player.integration_version`. */
export const SDK_VERSION = '0.1.0';
