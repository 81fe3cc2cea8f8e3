# The nixca issuer on the shared PostgreSQL store (docs/postgres.md), as an addition to
# ./nixca.nix: import both. Either a local services.postgresql (the database and a role named
# like the service user, peer authentication over /run/postgresql: no password anywhere), or a
# remote server with a password handed over as the systemd credential nixca-store-password.
# The operator's `nixca` on the host (./nixca.nix operatorCli) gets the same NIXCA_STORE and
# credential, so `sudo nixca node add …` changes the inventory the service serves.
#   imports = [ ./nix-module/nixca.nix ./nix-module/nixca-postgres.nix ];
#   services.nixca.database.enable = true;                       # local, peer auth
#   services.nixca.database = { enable = true; createLocally = false;
#     url = "postgres://nixca@db.internal:5432/nixca";
#     passwordFile = config.age.secrets.nixca-db.path; };        # remote
# Every instance runs `nixca db migrate` before it starts (idempotent, under an advisory lock).
{ config, lib, ... }:
let
  cfg = config.services.nixca;
  db = cfg.database;
  # Peer authentication: the database role is the service's Unix user. The socket file is named
  # after the port the server listens on (/run/postgresql/.s.PGSQL.<port>), so a server moved off
  # 5432 (services.postgresql.settings.port, declared wherever ensureDBOwnership is) is found only
  # with its port in the URL.
  localUrl = "postgres://${cfg.user}@/${db.name}?host=/run/postgresql&port=${toString config.services.postgresql.settings.port}";
  url = if db.createLocally then localUrl else db.url;
  # What to wait for: the role and the database exist only once ensureDatabases/ensureUsers ran.
  # nixpkgs 25.11 on runs them in postgresql-setup.service, after postgresql.service is up, and
  # postgresql.target requires both; before, postgresql.service's postStart ran them.
  pgUnit = if config.systemd.targets ? postgresql then "postgresql.target" else "postgresql.service";
in
{
  options.services.nixca.database = {
    enable = lib.mkEnableOption "the shared PostgreSQL store (several issuers, one database)";
    createLocally = lib.mkOption {
      type = lib.types.bool;
      default = true;
      description = "Use a local services.postgresql: create the database and a role named like the service user (services.nixca.user), which owns it; peer authentication over the unix socket, no password.";
    };
    name = lib.mkOption {
      type = lib.types.str;
      default = "nixca";
      description = "Database name (createLocally). NixOS' ensureDBOwnership gives a role the database of its own name only, so this must equal services.nixca.user.";
    };
    url = lib.mkOption {
      type = lib.types.nullOr lib.types.str;
      default = null;
      example = "postgres://nixca@db.internal:5432/nixca";
      description = "postgres:// URL of a remote database, without a password (it would be world-readable on the command line and in the store); see passwordFile.";
    };
    passwordFile = lib.mkOption {
      type = lib.types.nullOr lib.types.str;
      default = null;
      example = "/run/agenix/nixca-db";
      description = "Runtime path of the file holding the database password (remote database), handed to the service as the systemd credential `nixca-store-password`.";
    };
  };

  config = lib.mkIf (cfg.enable && db.enable) {
    assertions = [
      {
        assertion = db.createLocally || db.url != null;
        message = "services.nixca.database: set url (a remote database) or createLocally = true.";
      }
      {
        assertion = !db.createLocally || db.name == cfg.user;
        message = "services.nixca.database.name (${db.name}) must equal services.nixca.user (${cfg.user}) with createLocally: the role owns the database of its own name (ensureDBOwnership) and peer authentication maps the Unix user to that role.";
      }
      {
        assertion = url == null || lib.hasPrefix "postgres://" url || lib.hasPrefix "postgresql://" url;
        message = "services.nixca.database.url must be a postgres:// URL.";
      }
      {
        assertion = url == null || builtins.match "postgres(ql)?://[^/@]*:[^/@]*@.*" url == null;
        message = "services.nixca.database.url must not contain a password: use passwordFile.";
      }
    ];

    services.postgresql = lib.mkIf db.createLocally {
      enable = true;
      ensureDatabases = [ db.name ];
      ensureUsers = [{ name = cfg.user; ensureDBOwnership = true; }];
    };

    services.nixca.settings.store = url;
    services.nixca.credentials = lib.optionalAttrs (db.passwordFile != null) { nixca-store-password = db.passwordFile; };

    systemd.services.nixca = {
      requires = lib.optional db.createLocally pgUnit;
      after = lib.optional db.createLocally pgUnit;
      environment.NIXCA_STORE = url;
      # The schema this package needs, before serve checks it (serve itself never migrates).
      # NIXCA_STORE and the credential are seen by ExecStartPre as by the service itself.
      serviceConfig.ExecStartPre = [ "${cfg.package}/bin/nixca db migrate" ];
    };
  };
}
