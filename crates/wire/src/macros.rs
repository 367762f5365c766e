//! `enum_with_unknown!`: protocol-number enums that keep unknown values for lossless round trips.

/// Declares a protocol-number enum with an `Unknown(raw)` variant and `From` conversions both
/// ways, so parse → emit never loses a code.
macro_rules! enum_with_unknown {
    (
        $(#[$m:meta])*
        pub enum $name:ident($ty:ty) {
            $( $(#[$vm:meta])* $variant:ident = $value:expr ),+ $(,)?
        }
    ) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $( $(#[$vm])* $variant, )+
            /// A value this crate has no name for, kept as received.
            Unknown($ty),
        }

        impl ::core::convert::From<$ty> for $name {
            fn from(value: $ty) -> Self {
                match value {
                    $( v if v == $value => $name::$variant, )+
                    other => $name::Unknown(other),
                }
            }
        }

        impl ::core::convert::From<$name> for $ty {
            fn from(value: $name) -> Self {
                match value {
                    $( $name::$variant => $value, )+
                    $name::Unknown(other) => other,
                }
            }
        }

        impl $name {
            /// Every named variant (handy for tests and strategies).
            pub const KNOWN: &'static [$name] = &[$( $name::$variant ),+];

            /// The raw wire value.
            pub fn value(self) -> $ty {
                <$ty>::from(self)
            }
        }
    };
}

pub(crate) use enum_with_unknown;
