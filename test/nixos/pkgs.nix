# Stand-ins for the parts of nixpkgs that flake.nix and package.nix call, for evaluating them
# with nix 2.8 and no nixpkgs (none is available offline; only its lib, vendored in ./vendor).
# Each stand-in checks its arguments the way the real function declares them
# (pkgs/build-support/node/build-npm-package/default.nix,
# pkgs/build-support/node/import-npm-lock/default.nix, lib/fileset, lib/customisation.nix
# callPackage) and returns a fake derivation that keeps its arguments for the tests to inspect.
# Nothing is built.
{ system ? "x86_64-linux" }:
let
  realLib = import ./vendor/nixpkgs-lib/lib;
  inherit (builtins) isAttrs isFunction isList isPath functionArgs intersectAttrs attrNames filter all pathExists readDir concatMap;

  fakeDrv = name: extra: { type = "derivation"; inherit name system; outPath = "/nix/store/00000000000000000000000000000000-${name}"; } // extra;
  fail = msg: throw "stand-in: ${msg}";

  # lib/fileset: a file set is the list of files under the given paths; toSource keeps them.
  fileset = rec {
    filesOf = p:
      if !(pathExists p) then throw "lib.fileset.unions: Element 0 (${toString p}) is a path that does not exist."
      else if builtins.readFileType or null != null && builtins.readFileType p == "regular" then [ p ]
      else let t = (readDir (dirOf p)).${baseNameOf p}; in
        if t == "directory" then concatMap (n: filesOf (p + "/${n}")) (attrNames (readDir p)) else [ p ];
    unions = paths:
      if !(isList paths) then fail "lib.fileset.unions expects a list"
      else { _type = "fileset"; files = concatMap filesOf paths; };
    toSource = { root, fileset }:
      if !(isPath root) then fail "lib.fileset.toSource: root must be a path"
      else if (fileset._type or null) != "fileset" then fail "lib.fileset.toSource: fileset is not a file set"
      else {
        _type = "source";
        outPath = "/nix/store/00000000000000000000000000000000-source";
        # Relative paths of every file in the source (for the tests).
        files = map (f: builtins.substring (builtins.stringLength (toString root) + 1) (-1) (toString f)) fileset.files;
      };
  };

  # nixpkgs' lib (vendored), but for two stand-ins: fileset.toSource, which would copy into a
  # store (there is none here), and a stricter getExe (the real one only warns when
  # meta.mainProgram is missing, and guesses the name).
  lib = realLib // {
    inherit fileset;
    getExe = x: "${x.outPath}/bin/${x.meta.mainProgram or (fail "getExe: ${x.name} has no meta.mainProgram")}";
  };

  # lib.callPackageWith: the function's formals filled from pkgs, overridden by `args`; a
  # required formal that neither provides is an error, as in nixpkgs.
  callPackage = fn: args:
    let
      f = if isFunction fn then fn else import fn;
      formals = functionArgs f;
      given = intersectAttrs formals pkgs // args;
      missing = filter (n: !formals.${n} && !(given ? ${n})) (attrNames formals);
    in
    if missing != [ ] then throw "Function called without required argument \"${builtins.head missing}\""
    else f given;

  # buildNpmPackage's declared arguments (default.nix), plus what it passes to mkDerivation.
  buildNpmPackage = argsOrFn:
    let
      args = if isFunction argsOrFn then argsOrFn args else argsOrFn;
      checks = [
        { ok = isAttrs args; msg = "buildNpmPackage takes an attribute set (or finalAttrs: { … })"; }
        { ok = args ? name || (args ? pname && args ? version); msg = "buildNpmPackage needs pname and version (or name)"; }
        { ok = args ? src || args ? srcs; msg = "buildNpmPackage needs src"; }
        # Without npmDeps it fetches with hash = npmDepsHash, "" by default: a build that can only fail.
        { ok = args ? npmDeps || (args.npmDepsHash or "") != ""; msg = "buildNpmPackage needs npmDeps or npmDepsHash"; }
        { ok = !(args ? npmDeps && args ? npmDepsHash); msg = "npmDepsHash is unused when npmDeps is given"; }
        # importNpmLock's sources need importNpmLock's config hook (the default one expects a fetchNpmDeps cache).
        { ok = !((args.npmDeps._importNpmLock or false) && !((args.npmConfigHook or null) == importNpmLock.npmConfigHook)); msg = "npmDeps from importNpmLock needs npmConfigHook = importNpmLock.npmConfigHook"; }
        { ok = all (a: !(args ? ${a}) || isList args.${a}) [ "nativeBuildInputs" "buildInputs" "npmFlags" "npmInstallFlags" "npmBuildFlags" "npmPackFlags" ]; msg = "buildNpmPackage list arguments must be lists"; }
        { ok = (args.nodejs or nodejs).type or null == "derivation"; msg = "nodejs must be a derivation"; }
      ];
      bad = filter (c: !c.ok) checks;
    in
    if bad != [ ] then fail (builtins.head bad).msg
    else fakeDrv (args.name or "${args.pname}-${args.version}") {
      inherit args;
      inherit (args) version;
      pname = args.pname or null;
      meta = args.meta or { };
      passthru = args.passthru or { };
    } // (args.passthru or { });

  # import-npm-lock/default.nix: a functor whose function has exactly these formals (no `...`).
  importNpmLock = {
    __functor = _: { npmRoot ? null, package ? (if npmRoot == null then fail "importNpmLock needs npmRoot or package" else lib.importJSON (npmRoot + "/package.json")), packageLock ? (if npmRoot == null then fail "importNpmLock needs npmRoot or packageLock" else lib.importJSON (npmRoot + "/package-lock.json")), pname ? package.name or "unknown", version ? package.version or "0.0.0" }:
      if (packageLock.lockfileVersion or 0) < 2 then fail "importNpmLock reads packageLock.packages: lockfileVersion 2 or 3 required"
      else fakeDrv "${pname}-${version}-sources" { _importNpmLock = true; inherit package packageLock; };
    npmConfigHook = fakeDrv "npm-config-hook" { };
    linkNodeModulesHook = fakeDrv "link-node-modules-hook" { };
  };

  nodejs = fakeDrv "nodejs-22.12.0" { meta.mainProgram = "node"; version = "22.12.0"; };

  pkgs = {
    inherit lib callPackage buildNpmPackage importNpmLock system;
    stdenv.hostPlatform.system = system;
    nodejs_22 = nodejs;
    inherit nodejs;
    makeWrapper = fakeDrv "make-shell-wrapper-hook" { };
  };
in
pkgs
